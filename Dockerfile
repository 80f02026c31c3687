FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBUG=false PORTAL_VAR_DIR=/app/var
WORKDIR /app
COPY pyproject.toml README.md ./
COPY portal ./portal
COPY provisioning ./provisioning
RUN pip install --no-cache-dir . && mkdir -p /app/var
COPY manage.py ./
COPY templates ./templates
COPY static ./static
COPY locale ./locale
# A throwaway key pair, valid (start-up checks the Fernet keys) and never used again.
RUN SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build FIELD_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    sh -c 'python manage.py collectstatic --noinput && python manage.py compile_catalogues'
RUN useradd --create-home portal && chown -R portal /app/var
USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi", "-b", "0.0.0.0:8000", "-w", "3", "--threads", "4", "--access-logfile", "-"]
