# The portal as an operator runs it: the built wheel on a slim Python, WeasyPrint's libraries, a non-root user.
#   docker build -t invoice-portal .        (compose.yaml builds it for you)
# The image runs gunicorn on port 8000; compose.yaml runs the job worker from it too.

FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
COPY . .
# The wheel carries templates, static files, themes, compiled catalogues and migrations (setup.py).
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
# WeasyPrint draws PDFs with Pango and HarfBuzz, and needs fonts.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY --from=wheel /wheels /wheels
RUN pip install --no-cache-dir /wheels/invoice_portal-*.whl && rm -rf /wheels
RUN useradd --system --create-home --home-dir /srv/portal --uid 10001 portal
USER portal
WORKDIR /srv/portal
ENV PYTHONUNBUFFERED=1 \
    FLASK_APP=portal
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "portal:create_app()"]
