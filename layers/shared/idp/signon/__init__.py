"""Sign-on, the domain of the IdP's own login: the login flow as stages over one pending state,
the IdP session and its rules, the SSO decisions (answer, NoPassive, log in first; may this user be
answered for this app) and what an assertion says about the user. Pure of HTTP and of AWS: the web
routes hand it plain values, and it reaches the directory and its state only through ports.py."""
