"""Infrastructure below every capability: the database and its types, the Flask extensions, Vietnamese text,
times, bounds, errors and their pages, safe URLs, the JSON API's conventions, form translations, spreadsheets
and SIP addresses. Nothing here imports a capability (DESIGN.md)."""
