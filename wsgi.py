"""The application object that gunicorn and `flask --app wsgi` load."""

from vmeeting import create_app

app = create_app()
