FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY detectors ./detectors
COPY config ./config
RUN pip install --no-cache-dir .
ENV KOHTA_CONFIG=/app/config/kohta.yaml \
    KOHTA_WEB_HOST=0.0.0.0
EXPOSE 6066
CMD ["kohta", "worker"]
