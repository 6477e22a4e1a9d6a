from idp_local.stack import main

raise SystemExit(main())
