"""The OpenAPI 3.1 description of the service (/openapi.json) and the page that renders it (/docs)."""
