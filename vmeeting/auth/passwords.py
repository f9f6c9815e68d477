"""How easily a password is guessed: zxcvbn's estimate, and the person's own names, with the reason in words.

A password is refused when zxcvbn scores it below MIN_SCORE (0 to 4; 3 is
"safely unguessable: moderate protection from an offline slow-hash attack",
the level NIST SP 800-63B §5.1.1.2 asks for when it says to refuse values
"known to be commonly-used, expected, or compromised"), or when it is built
from what an attacker knows of the person: their user name, name or e-mail
address (the same section: "context-specific words, such as the name of the
service, the username"). zxcvbn speaks English; its warnings, a fixed set,
are said here in Vietnamese, N_ literals that a page shows in its reader's
language (vmeeting.core.text.shown) and the CLI as they are.
"""

import re
import unicodedata

from zxcvbn import zxcvbn

from vmeeting.core.text import N_, fold

MIN_SCORE = 3
#: zxcvbn's time grows with the length, so it refuses to read past 72 characters; what follows adds
#: nothing to its estimate (a passphrase that long is judged on its beginning)
CHECKED_LENGTH = 72
#: a part of a name or address shorter than this is too common a syllable to refuse ("an", "van", "nghi")
MIN_NAME_PART = 5
#: what the service is called, which is no secret either
SERVICE_WORDS = ("vmeeting",)


COMMON = N_("Mật khẩu quá dễ đoán: đây là một trong những mật khẩu phổ biến nhất, kẻ gian thử nó đầu tiên.")
#: zxcvbn's warning → our reason
WARNINGS = {
    "This is a top-10 common password.": COMMON,
    "This is a top-100 common password.": COMMON,
    "This is a very common password.": COMMON,
    "This is similar to a commonly used password.":
        N_("Mật khẩu quá dễ đoán: nó chỉ là một mật khẩu phổ biến thay vài chữ bằng số hoặc ký hiệu."),
    "Straight rows of keys are easy to guess.":
        N_("Mật khẩu quá dễ đoán: các phím liền nhau trên bàn phím (như qwerty, 123456) bị thử đầu tiên."),
    "Short keyboard patterns are easy to guess.":
        N_("Mật khẩu quá dễ đoán: các phím liền nhau trên bàn phím (như qwerty, 123456) bị thử đầu tiên."),
    'Repeats like "aaa" are easy to guess.':
        N_("Mật khẩu quá dễ đoán: lặp lại một ký tự (như aaa) không làm mật khẩu mạnh hơn."),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".':
        N_("Mật khẩu quá dễ đoán: lặp lại một cụm (như abcabc) gần như không mạnh hơn cụm đó."),
    'Sequences like "abc" or "6543" are easy to guess.':
        N_("Mật khẩu quá dễ đoán: dãy liên tiếp (như abc, 6543) bị thử đầu tiên."),
    "Recent years are easy to guess.":
        N_("Mật khẩu quá dễ đoán: năm và ngày tháng (như năm sinh) bị thử đầu tiên."),
    "Dates are often easy to guess.":
        N_("Mật khẩu quá dễ đoán: năm và ngày tháng (như năm sinh) bị thử đầu tiên."),
    "A word by itself is easy to guess.":
        N_("Mật khẩu quá dễ đoán: một từ đứng riêng có trong từ điển của kẻ gian."),
    "Names and surnames by themselves are easy to guess.":
        N_("Mật khẩu quá dễ đoán: một tên người đứng riêng có trong từ điển của kẻ gian."),
}
OWN_NAMES = N_("Mật khẩu không được dựa trên tên đăng nhập, họ tên hay địa chỉ thư của bạn: ai biết bạn cũng đoán được.")
GENERIC = N_("Mật khẩu quá dễ đoán: hãy dùng một cụm vài từ ít gặp ghép lại, ví dụ «mây-trắng-bến-đò-7».")


def normalized(password):
    """Return the password as it is judged, hashed and checked: NFKC (NIST SP 800-63B §5.1.1.2, RFC 8265).

    Two keyboards that write "ắ" as one code point or as "a" with two marks,
    or a full-width "Ｐａｓｓ" from an East Asian input method, give the same
    password, and zxcvbn judges the letters it knows.
    """
    return unicodedata.normalize("NFKC", password or "")


def context_words(context, agencies=()):
    """Return the folded words an attacker knows of a person: from their user name, full name and e-mail,
    and from the agency they work for.

    A name or address gives its whole (compacted), its e-mail local part, each
    part of at least MIN_NAME_PART letters, and each two neighbouring parts run
    together ("Nguyễn Văn An" gives "nguyenvan" and "vanan"). An agency's
    single words are the common words of every office ("phòng", "tỉnh"), so it
    gives only its whole and its neighbouring pairs ("Văn phòng UBND tỉnh
    Lạng Sơn" gives "vanphong", "phongubnd", …, "langson").
    """
    words = set()
    for value, is_agency in [*((v, False) for v in context), *((v, True) for v in agencies)]:
        if not value:
            continue
        folded = fold(str(value))
        local = folded.split("@")[0]
        whole, local = _compact(folded), _compact(local)
        parts = [part for part in re.split(r"[^a-z0-9]+", folded) if part]
        pairs = {first + second for first, second in zip(parts, parts[1:])}
        singles = set() if is_agency else set(parts)
        for word in {whole, local, *singles, *pairs}:
            if len(word) >= MIN_NAME_PART or (len(word) >= 3 and word in (whole, local)):  # the whole: any length
                words.add(word)
    return words


def _compact(text):
    return re.sub(r"[^a-z0-9]+", "", text)


def password_weakness(password, context=(), agencies=()):
    """Return why the password is too easily guessed, in Vietnamese (a page shows it through `shown`), or None.

    `context`: the user name, full name, e-mail and anything else known of the person;
    `agencies`: the names of the offices they work for.
    """
    password = normalized(password)
    known = context_words(context, agencies) | set(SERVICE_WORDS)
    if any(word in _compact(fold(password)) for word in known):
        return OWN_NAMES
    result = zxcvbn(password[:CHECKED_LENGTH], user_inputs=sorted(known))
    if result["score"] >= MIN_SCORE:
        return None
    if any(match.get("dictionary_name") == "user_inputs" for match in result["sequence"]):
        return OWN_NAMES
    return WARNINGS.get(result["feedback"]["warning"], GENERIC)
