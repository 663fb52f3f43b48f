"""The exceptions micropkg raises.

Every error micropkg raises on purpose derives from :class:`MicropkgError`, so
``except micropkg.MicropkgError`` catches all of them and nothing else::

    MicropkgError
    ├── InvalidRequirement        a requirement string that is not PEP 508
    ├── ScriptError               a PEP 723 script block that is malformed, or needs another Python
    ├── FetchError                a URL could not be fetched, or its answer is unusable
    │   ├── NetworkError          no HTTP response at all (offline, DNS, CORS in a browser)
    │   ├── HTTPStatusError       an HTTP response with a status that is not 2xx
    │   ├── IndexFormatError      a response that is not a valid index page or file
    │   └── InsecureURL           plain http to another machine, or a redirect to another scheme
    ├── ResolutionError           no set of distributions satisfies the request
    │   ├── ProjectNotFound       no index knows the project
    │   ├── NoCompatibleFile      the project exists, but no file fits this runtime
    │   │   └── UnavailableDependency  every release in reach needs a project that cannot be installed here
    │   ├── ConflictError         two requirements disagree on one project
    │   └── ResolutionTooLong     the search ran out of its time or rounds before deciding
    ├── IntegrityError            bytes that do not match the hash they were promised
    ├── LockError                 a lock file that is malformed, or that this runtime cannot install
    ├── InvalidWheel              a wheel that is malformed or hostile
    ├── BuildError                an sdist that could not be built into a wheel here
    │   ├── InvalidSdist          an sdist archive that is malformed or hostile
    │   └── CannotBuild           an sdist that needs a compiler (C, Cython, Rust) or builds an impure wheel
    ├── BuildRuntimeError         node or the Pyodide a host-side build (mirror --build) needs: missing or mismatched
    ├── InstallError              writing or loading failed (the transaction was rolled back)
    └── UninstallError            a distribution could not be removed

Messages name the thing (project, version, file, URL), say what was
expected and what was found, and, where there is one, what to do.
"""

from __future__ import annotations

__all__ = [
    "MicropkgError",
    "InvalidRequirement",
    "ScriptError",
    "FetchError",
    "NetworkError",
    "HTTPStatusError",
    "IndexFormatError",
    "InsecureURL",
    "ResolutionError",
    "ProjectNotFound",
    "NoCompatibleFile",
    "ConflictError",
    "UnavailableDependency",
    "ResolutionTooLong",
    "IntegrityError",
    "LockError",
    "InvalidWheel",
    "BuildError",
    "InvalidSdist",
    "CannotBuild",
    "BuildRuntimeError",
    "InstallError",
    "UninstallError",
]


class MicropkgError(Exception):
    """Root of every error micropkg raises on purpose."""

    def __reduce__(self):
        # The subclasses take keyword arguments, which Exception's default
        # pickling cannot replay; rebuild from the message and attributes instead,
        # so errors cross process and worker boundaries (and pytest-pyodide's).
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[MicropkgError], args: tuple, state: dict) -> MicropkgError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class InvalidRequirement(MicropkgError):
    """A requirement string that does not follow PEP 508."""

    def __init__(self, requirement: str, reason: str) -> None:
        self.requirement = requirement
        self.reason = reason
        super().__init__(f"Invalid requirement {requirement!r}: {reason}")


class ScriptError(MicropkgError):
    """A PEP 723 ``# /// script`` block that is malformed, or whose requires-python the runtime does not meet."""

    def __init__(self, message: str, *, script: str, line: int | None = None) -> None:
        self.script = script
        self.line = line
        super().__init__(message)


class FetchError(MicropkgError):
    """A URL (index page, metadata file, wheel) could not be fetched or is unusable."""

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(message)


class NetworkError(FetchError):
    """No HTTP response at all: offline, DNS, TLS, CORS refused in a browser, or no answer in time.

    ``timed_out`` is true when the server was reached but sent nothing (more) for
    the request's timeout, or when the install's time budget ran out.
    """

    def __init__(self, message: str, *, url: str, timed_out: bool = False) -> None:
        self.timed_out = timed_out
        super().__init__(message, url=url)


class HTTPStatusError(FetchError):
    """An HTTP response whose status is not 2xx."""

    def __init__(self, message: str, *, url: str, status: int) -> None:
        self.status = status
        super().__init__(message, url=url)


class IndexFormatError(FetchError):
    """A response that is not a valid index page, metadata file or wheel listing."""


class InsecureURL(FetchError):
    """A URL micropkg will not fetch: plain ``http:`` to a host other than this
    machine (unless ``allow_insecure_http=True``), or a redirect from ``https:``
    to another scheme. Its answer, if one came, was not used."""


class ResolutionError(MicropkgError):
    """No set of distributions satisfies the request."""

    def __init__(self, message: str, *, causes: tuple[MicropkgError, ...] = ()) -> None:
        # With keep_going=True several independent failures are reported at once.
        self.causes = causes
        super().__init__(message)


class ProjectNotFound(ResolutionError):
    """No index knows the project."""

    def __init__(self, message: str, *, project: str, indexes: tuple[str, ...]) -> None:
        self.project = project
        self.indexes = indexes
        super().__init__(message)


class NoCompatibleFile(ResolutionError):
    """The project exists, but none of its files fits the request and this runtime."""

    def __init__(self, message: str, *, project: str) -> None:
        self.project = project
        super().__init__(message)


class ConflictError(ResolutionError):
    """Two requirements disagree on one project."""

    def __init__(self, message: str, *, project: str) -> None:
        self.project = project
        super().__init__(message)


class UnavailableDependency(NoCompatibleFile):
    """Every release of ``project`` in reach needs ``blocker``, which nothing on this runtime provides."""

    def __init__(self, message: str, *, project: str, blocker: str) -> None:
        self.blocker = blocker
        super().__init__(message, project=project)


class ResolutionTooLong(ResolutionError):
    """The search ran out of its time budget or its rounds before it could decide."""

    def __init__(self, message: str, *, projects: tuple[str, ...] = ()) -> None:
        self.projects = projects  # the projects whose versions were being walked back
        super().__init__(message)


class IntegrityError(MicropkgError):
    """Bytes that do not match the hash they were promised."""

    def __init__(self, *, url: str, algorithm: str, expected: str, actual: str, note: str = "") -> None:
        self.url = url
        self.algorithm = algorithm
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"Hash mismatch for {url}: expected {algorithm}={expected}, got {algorithm}={actual}"
            f"{f' ({note})' if note else ''}. The file was changed after the index listed it, "
            "or the download was corrupted; nothing was installed."
        )


class LockError(MicropkgError):
    """A lock file (pylock.toml, pyodide-lock.json) that is malformed or unusable here.

    Raised before anything is downloaded: an unknown lock version, a wheel
    without a hash, two entries for one project, or no wheel that fits the
    running interpreter.
    """

    def __init__(self, message: str, *, lock: str, project: str | None = None) -> None:
        self.lock = lock
        self.project = project
        super().__init__(message)


class InvalidWheel(MicropkgError):
    """A wheel that is malformed or hostile (bad paths, links, RECORD mismatch...)."""

    def __init__(self, message: str, *, filename: str, member: str | None = None) -> None:
        self.filename = filename
        self.member = member
        where = f"{filename}" if member is None else f"{filename} (member {member!r})"
        super().__init__(f"Refusing wheel {where}: {message}")


class BuildError(MicropkgError):
    """Building ``project`` ``version`` from its sdist ``filename`` failed; nothing was installed."""

    def __init__(self, message: str, *, project: str, version: str, filename: str, member: str | None = None) -> None:
        self.project = project
        self.version = version
        self.filename = filename
        self.member = member
        super().__init__(message)


class InvalidSdist(BuildError):
    """An sdist archive that is malformed or hostile (bad paths, links, devices, too big)."""


class CannotBuild(BuildError):
    """An sdist that cannot be built in the browser: extension modules, a compiler, an impure wheel.

    ``reason`` is the why alone ("has Rust extension modules (maturin)"), for the resolver's
    account of a dependency none of whose releases can be installed here.
    """

    def __init__(self, message: str, *, reason: str = "", **where: str | None) -> None:
        self.reason = reason
        super().__init__(message, **where)  # type: ignore[arg-type]


class BuildRuntimeError(MicropkgError):
    """``mirror --build`` cannot run: ``node`` is missing, or the Pyodide folder is missing or is
    not the lock's runtime (``what`` names the program or folder)."""

    def __init__(self, message: str, *, what: str) -> None:
        self.what = what
        super().__init__(message)


class InstallError(MicropkgError):
    """Writing files or loading native code failed; the transaction was rolled back."""


class UninstallError(MicropkgError):
    """A distribution could not be removed."""


# Tracebacks and reprs name the public path (micropkg.ProjectNotFound), not this module.
for _name in __all__:
    globals()[_name].__module__ = "micropkg"
del _name
