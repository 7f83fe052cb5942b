# Copy to instance/config.py; environment variables CASETRACK_* override these.
# DATABASE_URL = "postgresql+psycopg://casetrack:secret@localhost/casetrack"
# SECRET_KEY = "a long random string"
