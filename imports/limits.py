"""The upload limit of the pages that take a file (FileUploader, an ALP configuration's sample).

A file past MAX_UPLOAD_BYTES is refused with the page's own message rather than Django's bare 400, and is never
stored whole: the limit is applied while the body is read."""

from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from imports import forms

# Room for the form's other fields and the multipart boundaries around the file.
_ENVELOPE_BYTES = 64 * 1024
_BODY_REFUSED = (
    "The upload was refused because the form sent too much data at once. Upload one file of at most "
    "{limit}, then try again."
)


class _FileSizeLimit(FileUploadHandler):
    """Stops storing a file as soon as it passes the upload limit, so a huge file never fills the disk."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.MAX_UPLOAD_BYTES:
            self.request.upload_refusal = forms.too_big_message()
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def upload_limited(view):
    """Set `request.upload_refusal` to the sentence that refuses an upload past MAX_UPLOAD_BYTES, else None.

    The size is judged before the body is parsed: CSRF protection reads the body, so it runs here, after the
    size check, rather than in the middleware."""
    protected = csrf_protect(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.upload_refusal = None
        if request.method == "POST":
            length = _content_length(request)
            if length > settings.MAX_UPLOAD_BYTES + _ENVELOPE_BYTES:
                # Nothing of the request is read or acted on, so there is nothing to protect from forgery.
                request.upload_refusal = forms.too_big_message(length)
                return view(request, *args, **kwargs)
            request.upload_handlers.insert(0, _FileSizeLimit(request))
            try:
                # Parsed here, with the size limit in place, so the view knows of a refusal before it looks.
                request.POST, request.FILES  # noqa: B018
            except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent):
                request.upload_refusal = _BODY_REFUSED.format(limit=filesizeformat(settings.MAX_UPLOAD_BYTES))
                return view(request, *args, **kwargs)
        return protected(request, *args, **kwargs)

    return csrf_exempt(wrapper)
