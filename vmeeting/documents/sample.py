"""The sample meeting an uploaded template is rendered with before it is accepted: every tag, realistic text.

Its keys are those of documents.letter.letter_context (tests/documents hold
them equal), so a template that renders here renders for every meeting.
"""

SAMPLE_CONTEXT = {
    "parent_body": "Ủy ban nhân dân tỉnh Lạng Sơn",
    "issuing_body": "Văn phòng Ủy ban nhân dân tỉnh",
    "number": "      ",
    "notation": "VP",
    "place_date": "Lạng Sơn, ngày 05 tháng 02 năm 2027",
    "summary": "Hội nghị trực tuyến triển khai nhiệm vụ năm 2027",
    "basis_line": "Thực hiện văn bản số 125/UBND-KGVX ngày 20/01/2027 của Ủy ban nhân dân tỉnh Lạng Sơn về việc "
                  "tổ chức hội nghị,",
    "inviter": "Văn phòng Ủy ban nhân dân tỉnh",
    "chair_person": "Đồng chí Chủ tịch Ủy ban nhân dân tỉnh",
    "attendees": [{"where": "Tại điểm cầu Hội trường UBND tỉnh", "who": "Lãnh đạo các sở, ban, ngành"},
                  {"where": "Tại các điểm cầu cấp xã (2 điểm cầu)", "who": "Chủ tịch UBND xã"}],
    "agenda": ["Triển khai nhiệm vụ năm 2027."],
    "time_text": "từ 08 giờ 00 đến 11 giờ 30, thứ năm, ngày 11/02/2027",
    "places": ["Điểm cầu chủ trì: Hội trường UBND tỉnh.", "Các điểm cầu cấp xã (2 điểm cầu): tại điểm cầu của đơn vị.",
               "Danh sách các điểm cầu tại Phụ lục kèm theo."],
    "duties": ["Các điểm cầu kết nối, kiểm tra trong thời gian chuẩn bị từ 07 giờ 30 đến 08 giờ 00.",
               "Đại biểu có mặt tại điểm cầu trước giờ họp 15 phút."],
    "technical_contact": "đồng chí Nguyễn Văn An, điện thoại 0912 345 678",
    "signer_authority": "TL. Chủ tịch",
    "signer_title": "Chánh Văn phòng",
    "signer_name": "Hoàng Văn Bình",
    "recipients": ["- Như thành phần mời;", "- Lưu: VT."],
    "annex": [{"number": 1, "name": "Tỉnh Lạng Sơn", "count": 1,
               "sites": [{"number": 1, "label": "Hội trường UBND tỉnh (điểm cầu chủ trì)"}]},
              {"number": 2, "name": "Huyện Cao Lộc", "count": 2,
               "sites": [{"number": 2, "label": "UBND xã Hợp Thành"}, {"number": 3, "label": "UBND xã Gia Cát"}]}],
    "annex_date": "ngày      tháng      năm 2027",
    "site_count": 3,
    "is_issued": False,
}
