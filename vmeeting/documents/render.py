"""Filling a giấy mời template (docxtpl) and turning the DOCX into a PDF (LibreOffice headless).

`render_docx(template_bytes, context)` fills a Word template whose tags are
Jinja's, through docxtpl, with StrictUndefined: a tag the context does not
have is an error naming it, never a blank in a signed document.
`check_template` renders an uploaded template with a sample meeting's context
before it is accepted. `docx_to_pdf` runs `soffice --headless --convert-to
pdf` with a profile of its own in a temporary directory (two conversions at
once would otherwise share, and lock, one profile) and a timeout.
"""

import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import zipfile
from pathlib import Path

import jinja2
from docxtpl import DocxTemplate
from jinja2.sandbox import ImmutableSandboxedEnvironment

from vmeeting.core.errors import ValidationError
from vmeeting.core.text import say

#: a conversion that takes longer is stopped (LibreOffice's first start in a new profile takes a few seconds)
PDF_TIMEOUT_SECONDS = 90
#: an uploaded template larger than this is refused
MAX_TEMPLATE_BYTES = 5 * 1024 * 1024
#: nor one whose parts unpack to more than this (a zip bomb: 5 MB of deflate unpacks to 5 GB)
MAX_TEMPLATE_UNPACKED_BYTES = 40 * 1024 * 1024


class ConverterUnavailable(Exception):
    """LibreOffice (soffice) is not installed here, or a conversion failed or timed out: offer the DOCX."""


def _environment():
    """Jinja's sandbox: a template is an admin's upload, often an office's file passed on, and its tags must
    not reach Python's internals (`{{ x.__class__.__mro__ }}` and on to os) nor mutate the context."""
    return ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


def render_docx(template_bytes, context):
    """Return the DOCX bytes of a template filled with context; raise jinja2 errors as they come."""
    template = DocxTemplate(io.BytesIO(template_bytes))
    template.render(context, jinja_env=_environment(), autoescape=True)
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


_UNDEFINED = re.compile(r"'(?:[^']*? object' has no attribute ')?([^']+)' is undefined|has no attribute '([^']+)'")


def check_template(data, sample_context, field="template"):
    """Render an uploaded template with a sample context; raise ValidationError({field: why}) naming the bad tag.

    A file that is not a .docx, a tag Jinja cannot read (its line and
    message), a tag the giấy mời does not have (its name): refused.
    """
    if len(data) > MAX_TEMPLATE_BYTES:
        raise ValidationError({field: say("Tệp mẫu lớn hơn %(mb)s MB.", mb=MAX_TEMPLATE_BYTES // 2**20)})
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValidationError({field: say("Tệp không phải tệp Word .docx.")})
    try:
        unpacked = sum(item.file_size for item in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ValidationError({field: say("Không điền được mẫu: %(error)s", error=str(exc)[:300])}) from None
    if unpacked > MAX_TEMPLATE_UNPACKED_BYTES:  # read before anything is unpacked; zipfile reads no more than stated
        raise ValidationError({field: say("Tệp mẫu giải nén ra hơn %(mb)s MB: không phải một giấy mời.",
                                          mb=MAX_TEMPLATE_UNPACKED_BYTES // 2**20)})
    try:
        render_docx(data, sample_context)
    except Exception as exc:  # noqa: BLE001 (a broken upload fails anywhere: the zip, its XML, the package)
        raise ValidationError({field: why_not_rendered(exc)}) from None


class TemplateFailed(Exception):
    """The template in use could not be filled for this meeting; `reason` says why (a Sentence, Vietnamese).

    An office's template is checked with the sample meeting when uploaded, but a tag may still fail for a
    real one (`{{ annex[1].name }}` for a meeting of one district, a division by a count that is 0).
    """

    def __init__(self, reason):
        super().__init__(str(reason))
        self.reason = reason


def why_not_rendered(exc):
    """The Vietnamese reason (a Sentence) a template could not be filled, naming the tag where Jinja says it."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return say("Thẻ của mẫu viết sai (%(error)s), gần: %(source)s", error=exc.message or "", source=_near(exc))
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return say("Mẫu dùng thẻ không được phép: %(error)s", error=str(exc)[:200])
    if isinstance(exc, jinja2.UndefinedError):
        match = _UNDEFINED.search(str(exc))
        name = next((g for g in match.groups() if g), str(exc)) if match else str(exc)
        return say("Mẫu dùng thẻ «%(tag)s» mà giấy mời không có.", tag=name)
    return say("Không điền được mẫu: %(error)s", error=str(exc)[:300])


def fill(template_bytes, context):
    """render_docx for a meeting: any failure of the template is TemplateFailed, never an error page."""
    try:
        return render_docx(template_bytes, context)
    except Exception as exc:  # noqa: BLE001 (an office's template fails anywhere: Jinja, Python, the package)
        raise TemplateFailed(why_not_rendered(exc)) from exc


def _near(exc):
    """The line of the template's XML that Jinja stumbled on, as text without the XML (shortened)."""
    source = getattr(exc, "source", None) or ""
    lines = source.splitlines()
    line = lines[exc.lineno - 1] if exc.lineno and exc.lineno <= len(lines) else ""
    text = re.sub(r"<[^>]+>", "", line)
    at = max(text.find("{"), 0)
    return text[at:at + 80] or "?"


def soffice_path():
    """The soffice executable, or None where LibreOffice is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def docx_to_pdf(docx_bytes, timeout=PDF_TIMEOUT_SECONDS):
    """Return the PDF of a DOCX through LibreOffice headless; raise ConverterUnavailable without it or on failure."""
    program = soffice_path()
    if program is None:
        raise ConverterUnavailable("soffice not found")
    with tempfile.TemporaryDirectory(prefix="vmeeting-pdf-") as work:
        folder = Path(work)
        source = folder / "giay-moi.docx"
        source.write_bytes(docx_bytes)
        profile = (folder / "profile").as_uri()
        command = [program, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--nologo",
                   "--convert-to", "pdf", "--outdir", str(folder), str(source)]
        env = {**os.environ, "HOME": str(folder)}
        try:
            # a session of its own: on a timeout the whole group goes (soffice starts soffice.bin)
            process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise ConverterUnavailable(f"soffice failed to start: {exc}") from exc
        try:
            _out, errors = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise ConverterUnavailable(f"soffice took more than {timeout} s") from exc
        if process.returncode != 0:
            raise ConverterUnavailable(f"soffice failed ({process.returncode}): {errors[-500:]!r}")
        target = folder / "giay-moi.pdf"
        if not target.exists():
            raise ConverterUnavailable("soffice wrote no PDF")
        return target.read_bytes()
