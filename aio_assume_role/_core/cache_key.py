"""botocore's cache key of an AssumeRole request (pure, standard library only)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from hashlib import sha1
from typing import Any

__all__ = ["assume_role_cache_key", "request_cache_key"]


def assume_role_cache_key(assume_kwargs: Mapping[str, Any], *, generated_name: bool) -> str:
    """The cache key botocore and the AWS CLI give an AssumeRole request.

    The same algorithm as botocore's ``BaseAssumeRoleCredentialFetcher._create_cache_key``
    (and ``CachedCredentialFetcher._make_file_safe``), computed here so that no
    fetcher needs botocore's sync class: a generated session name is left out, an
    inline policy is parsed (so its keys get sorted), and the sha1 of the sorted JSON
    is made file-safe. ``tests/test_compat.py`` checks it against botocore's.
    """
    args = dict(assume_kwargs)  # a shallow copy: only top-level keys are replaced
    if generated_name:
        del args["RoleSessionName"]
    if "Policy" in args:
        args["Policy"] = json.loads(args["Policy"])
    digest = sha1(json.dumps(args, sort_keys=True).encode("utf-8")).hexdigest()
    return digest.replace(":", "_").replace(os.sep, "_").replace("/", "_")


def request_cache_key(role_arn: str, args: Mapping[str, Any]) -> str:
    """The cache key of the request for ``role_arn`` with normalized ``args`` (the output of
    ``normalize_assume_role_args``): what ``FetchCore.cache_key`` gives its fetcher.

    TokenCode is left out, RoleArn put in, and a session name left to be generated is
    not part of the key (``tests/test_programs_credential_process_cache.py`` checks it
    against the fetcher's).
    """
    request = {name: value for name, value in args.items() if name != "TokenCode"}
    request["RoleArn"] = role_arn
    if not request.get("RoleSessionName"):
        request.pop("RoleSessionName", None)
    return assume_role_cache_key(request, generated_name=False)
