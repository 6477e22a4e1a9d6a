"""The HTTP edge, outermost layer: powertools routers for the admin API, the SAML endpoints, the
login pages and the portal. Each route reads its request once into a WebRequest (request.py),
calls the services the composition root builds, and renders JSON or a Jinja2 page; nothing
further in sees an API Gateway event."""
