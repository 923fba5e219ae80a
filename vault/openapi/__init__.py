"""The OpenAPI 3.1 description of the service (/openapi.json) and the page that renders it (/docs).

Each route's description sits beside its handler (`@described`, handlers/); here
are the building blocks those use (operation, parameters, schemas, error
responses) and the assembly of the document (spec).
"""
