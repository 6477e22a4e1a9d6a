from idp.local.stack import main

raise SystemExit(main())
