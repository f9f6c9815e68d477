"""The documents' part of the OpenAPI document: api.py's operations (the giấy mời, the basis document)."""

from vmeeting.core.openapi import (
    BOOL, DATE, STRING, json_content, nullable, obj, operation, path_param, ref, responses,
)

BINARY = {"type": "string", "format": "binary"}
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

SCHEMAS = {
    "BasisDocument": obj({"number": STRING, "issued_on": DATE, "issuer": STRING, "summary": STRING,
                          "source": {"type": "string", "enum": ["typed", "edxml"]}, "has_pdf": BOOL},
                         ["number", "issued_on", "issuer", "summary", "source", "has_pdf"], additional=True),
    "BasisDocumentInput": obj({"number": {"type": "string", "maxLength": 100}, "issued_on": DATE,
                               "issuer": {"type": "string", "maxLength": 300},
                               "summary": {"type": "string", "maxLength": 1000}},
                              ["number", "issued_on", "issuer", "summary"]),
    "IssuedLetter": obj({"number": nullable(STRING), "issued_on": nullable(DATE), "attach_pdf": BOOL,
                         "has_signed_pdf": BOOL,
                         "reference": {"type": "string", "description":
                                       "what the invites now say: 'Theo Giấy mời số 12/GM-UBND ngày 05/02/2027'"}},
                        ["number", "issued_on", "attach_pdf", "has_signed_pdf", "reference"], additional=True),
    "IssuedLetterInput": obj({"number": {"type": "string", "maxLength": 100, "description": "as iOffice gave it: "
                                                                                           "12/GM-UBND"},
                              "issued_on": DATE, "attach_pdf": BOOL}, ["number", "issued_on"]),
}

MEETING = path_param("meeting_id", "the meeting's id")


def _input(json_schema, files):
    """A body as JSON, or as multipart/form-data with the same fields and the files."""
    form = {"type": "object", "properties": {name: BINARY for name in files}}
    return {"required": True, "content": {**json_content(json_schema), "multipart/form-data": {"schema": form}}}


PATHS = {
    "/meetings/{meeting_id}/giay-moi.docx": {
        "get": operation("giayMoiDocx", "Documents", "The meeting's draft giấy mời as DOCX",
                         responses("200", "Nghị định 30/2020/NĐ-CP, Phụ lục I; the number left for the văn thư "
                                          "until iOffice gave one; 409 `template_failed` when the office's "
                                          "template in use cannot be filled for this meeting", None, "403", "404",
                                   "409",
                                   ok_content={DOCX_TYPE: {"schema": BINARY}}),
                         parameters=[MEETING]),
    },
    "/meetings/{meeting_id}/giay-moi.pdf": {
        "get": operation("giayMoiPdf", "Documents", "The same draft as PDF (LibreOffice on the server)",
                         responses("200", "the draft as PDF; 503 `converter_unavailable` without LibreOffice; "
                                          "409 `template_failed` as for the DOCX",
                                   None, "403", "404", "409", ok_content={"application/pdf": {"schema": BINARY}}),
                         parameters=[MEETING]),
    },
    "/meetings/{meeting_id}/basis-document": {
        "put": operation("putBasisDocument", "Documents", "Set the document the meeting is called on",
                         responses("200", "the basis document as kept", ref("BasisDocument"), "400", "403", "404"),
                         parameters=[MEETING], request_body=_input(ref("BasisDocumentInput"), ("edxml", "pdf")),
                         description="JSON, or multipart/form-data with the same fields and `pdf`, or with an "
                                     "`edxml` file (QCVN 102:2016/BTTTT) whose header gives them all; a file "
                                     "that is not edXML, or XML with a DTD or entities, is refused (400, "
                                     "`fields.edxml`)."),
    },
    "/meetings/{meeting_id}/giay-moi": {
        "put": operation("issueGiayMoi", "Documents", "Record the giấy mời as iOffice numbered and signed it",
                         responses("200", "the issued giấy mời; the invites quote it from now on",
                                   ref("IssuedLetter"), "400", "403", "404"),
                         parameters=[MEETING], request_body=_input(ref("IssuedLetterInput"), ("signed_pdf",)),
                         description="JSON, or multipart/form-data with the same fields and `signed_pdf`; "
                                     "`attach_pdf: true` sends the signed PDF with every invite mailed from now on."),
    },
}
