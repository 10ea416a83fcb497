# Oretrail's image: the API (gunicorn), the projectors (`oretrail project NAME`) and the command line.
# Configured only through the environment (README, "Configuration" and "Running distributed").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY events ./events
COPY services ./services
COPY api ./api
COPY consumers ./consumers
COPY composition ./composition
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/oretrail --create-home oretrail \
    && install -d -o oretrail -g oretrail -m 0700 /var/lib/oretrail/keys

USER oretrail
ENV ORETRAIL_DATA_DIR=/var/lib/oretrail \
    ORETRAIL_HOST=0.0.0.0 \
    PORT=8000
EXPOSE 8000

CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--logger-class", "services.logs.GunicornLogger", "--no-control-socket", "composition.wsgi:create_app()"]
