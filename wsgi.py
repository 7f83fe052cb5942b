"""gunicorn entry point: `gunicorn wsgi:app`."""
from casetrack import create_app

app = create_app()
