"""Sign-on, the domain of the IdP's own login: the login flow (identify, password, throttling), the
IdP session, and what an assertion says about the user. Pure of HTTP and of AWS: the web routes
hand it parsed requests, the adapters store its state."""
