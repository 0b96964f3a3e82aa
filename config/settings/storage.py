"""Files: static assets (WhiteNoise), media, product images in S3 (django-storages), AWS credentials and timeouts."""

from botocore.config import Config as BotoConfig

from config.settings.env import BASE_DIR, env

STATIC_URL = "static/"
# Where `collectstatic` gathers the admin's and the docs' assets for WhiteNoise to serve.
STATIC_ROOT = env("STATIC_ROOT", default="") or str(BASE_DIR / "staticfiles")
MEDIA_URL = "/media/"
MEDIA_ROOT = env("MEDIA_ROOT", default="") or str(BASE_DIR / "media")
# Production refuses media on the local filesystem (each host would keep its own uploads) unless this says there
# is one host; a fleet sets AWS_STORAGE_BUCKET_NAME.
MEDIA_SINGLE_HOST = env.bool("MEDIA_SINGLE_HOST", default=False)
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default="") or None
# Credentials and region: the standard AWS variables; unset keys leave boto3 its default chain (instance role, …).
AWS_ACCESS_KEY_ID = env("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_SESSION_TOKEN = env("AWS_SESSION_TOKEN", default="") or None
AWS_REGION_NAME = env("AWS_DEFAULT_REGION", default="") or "us-east-1"
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default="") or AWS_REGION_NAME
# The bucket stays private: image URLs are pre-signed and live longer than a cached product read
# (PRODUCTS_CACHE_TTL). A public bucket or a CDN sets AWS_QUERYSTRING_AUTH=false (and AWS_S3_CUSTOM_DOMAIN).
AWS_QUERYSTRING_AUTH = env.bool("AWS_QUERYSTRING_AUTH", default=True)
AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=60 * 60 * 6)
AWS_S3_CUSTOM_DOMAIN = env("AWS_S3_CUSTOM_DOMAIN", default="") or None
AWS_S3_ADDRESSING_STYLE = env("AWS_S3_ADDRESSING_STYLE", default="") or None
AWS_S3_FILE_OVERWRITE = False
# Every call to AWS (S3 uploads in a request, SNS publishes in the relay) gives up after these many seconds.
AWS_CONNECT_TIMEOUT = env.float("AWS_CONNECT_TIMEOUT", default=3.0)
AWS_READ_TIMEOUT = env.float("AWS_READ_TIMEOUT", default=10.0)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# django-storages' boto3 client: bounded calls, and Signature Version 4 (every region takes it; v2 is retired).
AWS_S3_CLIENT_CONFIG = BotoConfig(
    connect_timeout=AWS_CONNECT_TIMEOUT,
    read_timeout=AWS_READ_TIMEOUT,
    retries={"mode": "standard", "max_attempts": 3},
    signature_version="s3v4",
    s3={"addressing_style": AWS_S3_ADDRESSING_STYLE},
)
if AWS_STORAGE_BUCKET_NAME:
    # django-storages reads the AWS_* settings above (bucket, endpoint, region, credentials, URL signing).
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}
