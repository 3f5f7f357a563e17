"""Role session names for Lambda functions (reads Lambda's environment variables only)."""

from __future__ import annotations

import datetime
import os
import random
import re
import string

__all__ = ["generate_lambda_session_name"]

_MAX_LENGTH = 64


def generate_lambda_session_name(
    function_name: str | None = None,
    function_version: str | None = None,
    identifier: str | None = None,
) -> str:
    """Generate a role session name that identifies a Lambda function.

    The result is ``{function_name}``, ``{function_name}.{identifier}`` or
    ``{function_name}.{function_version}.{identifier}``, at most 64 characters.
    The name and version default to ``AWS_LAMBDA_FUNCTION_NAME`` and
    ``AWS_LAMBDA_FUNCTION_VERSION`` (``$LATEST`` counts as no version). The
    identifier defaults to the execution environment's ID from
    ``AWS_LAMBDA_LOG_STREAM_NAME``, else a timestamp when at least 14 characters fit,
    else a random string. Rules, in order: a name over 59 characters is truncated
    alone; if name plus version exceed 59, the version is dropped; otherwise all
    three are joined and truncated to 64. Characters STS rejects become ``_``.
    """
    if not function_name:
        function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    if not function_version:
        function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "")
    version_component = (
        "." + str(function_version) if function_version and function_version != "$LATEST" else ""
    )

    def _identifier(max_length: int) -> str:
        if identifier:
            return identifier
        # The log stream name ends with the execution environment's unique ID,
        # e.g. 2020/01/31/[$LATEST]3893xmpl7fac4485b47bb75b671a283c
        match = re.search(r"\w+$", os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""))
        if match:
            return match.group()[:max_length]
        if max_length >= 14:  # enough for second-level precision
            now = datetime.datetime.now(datetime.timezone.utc)
            return now.strftime("%Y%m%d%H%M%S%f")[:max_length]
        chars = string.ascii_lowercase + string.digits
        return "".join(random.choice(chars) for _ in range(max_length))

    if len(function_name) > _MAX_LENGTH - 5:
        # not worth adding an identifier unless at least four characters of it fit
        value = function_name[:_MAX_LENGTH]
    elif len(function_name) + len(version_component) > _MAX_LENGTH - 5:
        value = f"{function_name}.{_identifier(63 - len(function_name))}"[:_MAX_LENGTH]
    else:
        max_length = 63 - (len(function_name) + len(version_component))
        value = f"{function_name}{version_component}.{_identifier(max_length)}"[:_MAX_LENGTH]
    return re.sub(r"[^a-zA-Z0-9_=,.@-]+", "_", value)
