"""Reading a basis document's header from an .edxml file (QCVN 102:2016/BTTTT, as amended in 2022).

edXML is the envelope in which Vietnamese state bodies exchange documents
(the national document axis, the province's LGSP, iOffice). Its header,
`edXMLEnvelope/edXMLHeader/MessageHeader`, names what a văn bản căn cứ needs:

- `From/OrganName`: cơ quan ban hành;
- `Code/CodeNumber` and `Code/CodeNotation`: số and ký hiệu ("125", "UBND-KGVX");
- `PromulgationInfo/PromulgationDate`: ngày ban hành;
- `Subject`: trích yếu;

and `AttachmentEncoded/Attachment` carries the files, base64 (the PDF among
them). The element names and the namespace
(`http://www.mic.gov.vn/TBT/QCVN_102_2016`) are those of the QCVN's schema as
published SDKs and sample files use them; the older envelope of Quyết định
28/2018/QĐ-TTg's axis (`http://www.go.vn/eDoc`, root `edXMLEnvelope`) has the
same MessageHeader and is read as well. Elements are matched by local name.

The file is parsed by defusedxml with DTDs forbidden: a document type
declaration (where entity expansion, "billion laughs", and external entities
live) is refused before anything is expanded or fetched.
"""

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional
from xml.etree.ElementTree import ParseError

import defusedxml
from defusedxml.ElementTree import fromstring

from vmeeting.core.errors import ValidationError
from vmeeting.core.text import N_, clean

#: the namespaces of the envelopes read (QCVN 102:2016; the axis of QĐ 28/2018/QĐ-TTg)
NAMESPACES = ("http://www.mic.gov.vn/TBT/QCVN_102_2016", "http://www.go.vn/eDoc")
ROOTS = {"edXML", "edXMLEnvelope"}
#: the date forms met in PromulgationDate: the SDKs' YYYY/MM/DD, ISO, and dd/mm/yyyy
DATE_FORMATS = ("%Y/%m/%d", "%Y-%m-%d", "%d/%m/%Y")
FIELD = "edxml"


@dataclass
class EdxmlHeader:
    """What a basis document takes from an edXML header: strings in NFC, a date, the first PDF attached."""

    number: str
    issued_on: date
    issuer: str
    summary: str
    pdf: Optional[bytes] = None
    pdf_name: Optional[str] = None


def _local(tag):
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child(element, *path):
    """The first descendant along local names `path` (each step a direct child), or None."""
    for name in path:
        if element is None:
            return None
        element = next((c for c in element if _local(c.tag) == name), None)
    return element


def _text(element, *path):
    found = _child(element, *path)
    return clean("".join(found.itertext())) if found is not None else ""


def _parse_date(text):
    for form in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip()[:10], form).date()
        except ValueError:
            continue
    return None


def _refuse(message):
    raise ValidationError({FIELD: message})


def read_edxml(data):
    """Return the EdxmlHeader of an .edxml file's bytes; raise ValidationError({"edxml": reason}) otherwise.

    Refused: a file that is not XML; XML with a DTD or entities (QCVN files
    have none; they are how entity expansion and external-entity attacks
    come); XML that is not an edXML envelope; an envelope without the number,
    date, issuer or subject.
    """
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException:
        _refuse(N_("Tệp có khai báo DTD hoặc thực thể (entity) XML: không nhận vì lý do an toàn; "
                   "tệp edXML hợp lệ không có các khai báo này."))
    except (ParseError, ValueError):
        _refuse(N_("Tệp không phải là tệp XML đọc được, nên không phải tệp edXML (QCVN 102:2016/BTTTT)."))
    namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
    if _local(root.tag) not in ROOTS or namespace not in NAMESPACES:
        _refuse(N_("Tệp XML này không phải văn bản điện tử edXML (QCVN 102:2016/BTTTT): không có phong bì "
                   "edXMLEnvelope."))
    envelope = root if _local(root.tag) == "edXMLEnvelope" else _child(root, "edXMLEnvelope")
    header = _child(envelope, "edXMLHeader", "MessageHeader")
    if header is None:  # the older axis' envelope puts it straight under the root
        header = _child(envelope, "MessageHeader")
    if header is None:
        _refuse(N_("Tệp edXML không có phần thông tin văn bản (MessageHeader)."))
    number, notation = _text(header, "Code", "CodeNumber"), _text(header, "Code", "CodeNotation")
    issued_on = _parse_date(_text(header, "PromulgationInfo", "PromulgationDate"))
    issuer = _text(header, "From", "OrganName") or _text(header, "PromulgationInfo", "Promulgator")
    summary = _text(header, "Subject")
    if not number or not issued_on or not issuer or not summary:
        _refuse(N_("Tệp edXML thiếu số, ngày ban hành, cơ quan ban hành hoặc trích yếu của văn bản."))
    pdf, pdf_name = _first_pdf(root)
    return EdxmlHeader(number=f"{number}/{notation}" if notation else number, issued_on=issued_on,
                       issuer=issuer, summary=summary, pdf=pdf, pdf_name=pdf_name)


_BASE64_SPACE = re.compile(rb"\s+")


def _first_pdf(root):
    """(bytes, name) of the first PDF in AttachmentEncoded, or (None, None); a broken one is left out."""
    for attachment in root.iter():
        if _local(attachment.tag) != "Attachment":
            continue
        kind, name = _text(attachment, "ContentType").lower(), _text(attachment, "AttachmentName")
        if kind != "application/pdf" and not name.lower().endswith(".pdf"):
            continue
        encoded = _child(attachment, "ContentTransferEncoded")
        try:
            content = base64.b64decode(_BASE64_SPACE.sub(b"", (encoded.text or "").encode("ascii")), validate=True)
        except (AttributeError, binascii.Error, UnicodeEncodeError):
            continue
        if content.startswith(b"%PDF-"):
            return content, name or "van-ban.pdf"
    return None, None
