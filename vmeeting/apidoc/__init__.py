"""The API's own description: the OpenAPI document and its reference page."""
