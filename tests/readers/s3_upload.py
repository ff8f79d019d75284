"""Uploads a dataset folder to an S3-compatible server: tests/sql_object_store.rs.

Usage: s3_upload.py ENDPOINT BUCKET PREFIX FOLDER
Creates BUCKET unless it exists and puts every file under FOLDER at PREFIX/<relative path>.
"""
import sys
from pathlib import Path

import boto3

endpoint, bucket, prefix, folder = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
if bucket not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
    s3.create_bucket(Bucket=bucket)
root = Path(folder)
count = 0
for path in sorted(root.rglob("*")):
    if path.is_file():
        s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(root).as_posix()}")
        count += 1
print(count)
