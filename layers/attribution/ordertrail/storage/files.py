"""The only module that talks to S3: large CSV downloads go to the exports bucket and out as presigned links."""

from __future__ import annotations

from typing import Any

import boto3

LINK_SECONDS = 3600


class DownloadFiles:
    """Writes CSV download files under `exports/` (the bucket's lifecycle deletes them after 7 days) and signs links to them."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 S3 client, created on first use."""
        if self._client is None:
            self._client = boto3.client("s3")
        return self._client

    def publish(self, key: str, text: str, filename: str) -> str:
        """Store the file and return a presigned GET link valid for LINK_SECONDS."""
        body = text.encode("utf-8")
        disposition = f'attachment; filename="{filename}"'
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="text/csv; charset=utf-8", ContentDisposition=disposition
        )
        return str(self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=LINK_SECONDS))
