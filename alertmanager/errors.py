"""The refusal every service raises, whatever its app: the pages, the API and the jobs turn it into words for a
person. It lives here, beneath the apps, because the job queue's own refusal (the queue does not answer) is one."""


class ServiceError(Exception):
    """A change the rules refuse. `code` is machine-readable, str(exc) is a sentence for a person."""

    def __init__(self, code: str, detail: str, field: str | None = None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
