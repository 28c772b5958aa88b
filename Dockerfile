# Production image: one image, three roles (web, worker, beat) chosen by the command.
FROM python:3.11-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    TA_VAR_DIR=/app/var

RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files and compiled translations are built into the image; the build needs no secrets.
RUN DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=localhost DATABASE_URL=sqlite:////tmp/build.sqlite3 \
        REDIS_URL=redis://localhost:6379/0 \
        python manage.py collectstatic --no-input -v0 \
    && DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=localhost DATABASE_URL=sqlite:////tmp/build.sqlite3 \
        REDIS_URL=redis://localhost:6379/0 \
        python manage.py compile_translations -v0 \
    && rm -f /tmp/build.sqlite3

RUN useradd --system --uid 10001 --home /app ta && mkdir -p /app/var && chown -R ta /app/var
USER ta

EXPOSE 8000
# Threaded workers: a call waiting on a slow dependency holds one thread, not a whole process.
# 32 threads for 8 request slots and 16 waiting (LOAD_SHED_*): the rest are answered 503 at once.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "2", "--threads", "32", "--timeout", "30", "--access-logfile", "-"]
