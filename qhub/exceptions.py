"""qhub's exception hierarchy.

Every error qhub raises on purpose derives from :class:`QHubError`, so callers can catch one
type, and the CLI turns any of them into a single line on stderr with a non-zero exit.
"""

from __future__ import annotations


class QHubError(Exception):
    """Root of every error qhub raises on purpose."""


class ConfigError(QHubError, ValueError):
    """A configuration value is missing, malformed or out of range.

    The message names the setting, where the value came from and what is allowed.
    """


class UsageError(QHubError):
    """A command-line invocation is malformed (the CLI exits with status 2)."""


class DependencyMissingError(QHubError, ImportError):
    """An optional dependency needed by the requested feature is not installed."""


class CacheError(QHubError):
    """A cache operation failed and the manager was configured not to fall back."""


class CacheBackendError(CacheError):
    """A cache backend could not be reached or answered with an error."""


class SerializationError(CacheError):
    """A value could not be encoded, or stored bytes could not be decoded safely."""


class UnsafePayloadError(SerializationError):
    """Stored bytes ask for an unsafe codec (pickle) that was not allowed or not signed."""


class CorruptValueError(SerializationError):
    """Stored bytes claim to be a qhub value but do not decode; read as a miss and deleted."""


class PatternError(QHubError, ValueError):
    """A glob pattern is not valid; qhub uses Redis's glob syntax on every backend."""


class LockTimeoutError(CacheError):
    """A dogpile lock could not be acquired before its timeout."""


class APIClientError(QHubError):
    """An HTTP request made through :class:`qhub.BaseAPIClient` failed."""


class ResponseValidationError(APIClientError, AssertionError):
    """A response did not match its JSON Schema or field expectations.

    It is also an :class:`AssertionError`, so behave reports it as a step *failure*.
    """


class DataError(QHubError):
    """Test-data generation failed."""


class TemplateError(DataError):
    """A test-data template file is malformed; the message names file, line and field."""


class ProfilerError(QHubError):
    """The profiler or its run history could not do what was asked."""


class PerformanceRegression(ProfilerError):
    """A performance check found a regression or a budget violation.

    Raised by ``qhub check`` (exit status 1) and
    :meth:`qhub.PerformanceProfiler.assert_no_regressions`.
    """

    exit_code = 1


class AuditError(QHubError):
    """``qhub audit`` could not run (bad paths or options, not findings in user code)."""


class APIConnectionError(APIClientError, ConnectionError):
    """An HTTP request could not connect, or the server dropped the connection mid-request.

    Raised only after the configured retries are used up; the message names the method,
    the redacted URL and the cause.
    """


class APITimeoutError(APIClientError, TimeoutError):
    """An HTTP request timed out connecting or waiting for the response (after retries)."""


class APIResponseTooLargeError(APIClientError):
    """A response body (after decompression) exceeded ``api.max_response_mb``; the
    connection was closed instead of reading the rest."""


class APIStatusError(APIClientError):
    """A JSON helper got an HTTP error status (4xx/5xx); ``status_code`` holds it."""

    status_code: int = 0


class SchemaError(APIClientError):
    """A JSON Schema file is missing, unreadable or not a valid schema."""


class StressError(QHubError):
    """``qhub stress`` cannot start: no scenario selected, an undefined step, a failing
    ``before_all``, or a plan out of bounds. The message says which, in one line."""


class StressTargetError(StressError):
    """A stress run refused to send a request to a host that is not a configured API host
    (``api.base_url``, ``apis.<name>.base_url``, ``stress.allowed_hosts``)."""

    stress_kind = "refused host"
