"""Secret masking never reveals a short token (issue 15, point 6)."""

from provisioning.redaction import redact
from provisioning.sync.credentials import Credentials, describe_result


class _Result:
    ok = False
    code = "unexpected_status"
    message = "expected 200; token x was refused"
    details = {"note": "x-ray expected"}


def test_a_one_letter_token_does_not_mask_letters_inside_words():
    credentials = Credentials(secret_token="x")

    verdict = describe_result(_Result(), credentials)

    assert verdict.message == "expected 200; token *** was refused"
    assert credentials.scrub("expected") == "expected"


def test_a_long_secret_is_masked_wherever_it_appears():
    secret = "Zq8vN3xW7pLk2Rj5"
    assert redact(f"Bearer {secret}; url?t={secret}x", [secret]) == "Bearer ***; url?t=***x"
    assert redact({"a": [f"k{secret}"]}, [secret, ""]) == {"a": ["k***"]}
