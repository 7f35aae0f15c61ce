import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from lines.models import LineType
from lines.providers import LineAnswer, LineTypeProvider

_TYPES = {
    PhoneNumberType.MOBILE: LineType.MOBILE,
    PhoneNumberType.FIXED_LINE: LineType.LANDLINE,
    PhoneNumberType.VOIP: LineType.VOIP,
}


class MetadataProvider(LineTypeProvider):
    """phonenumbers' own data: no network and no cost. It knows little of US and Canadian numbers, which it
    calls FIXED_LINE_OR_MOBILE: those stay `unknown` until a carrier lookup or a delivery receipt says more."""

    name = "metadata"
    label = "Number metadata (offline)"
    paid = False

    def look_up(self, phone: str) -> LineAnswer:
        try:
            number = phonenumbers.parse(phone, None)
        except NumberParseException:
            return LineAnswer(LineType.UNKNOWN)
        return LineAnswer(_TYPES.get(phonenumbers.number_type(number), LineType.UNKNOWN))
