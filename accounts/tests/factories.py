import factory
from factory.django import DjangoModelFactory

from accounts.models import Meter, PersonalAccount, User


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"resident{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")


class PersonalAccountFactory(DjangoModelFactory):
    class Meta:
        model = PersonalAccount

    number = factory.Sequence(lambda n: f"{120000000 + n}")
    address = factory.Sequence(lambda n: f"вул. Соборна, {n + 1}")
    holder_name = "Іваненко Марія Петрівна"


class MeterFactory(DjangoModelFactory):
    class Meta:
        model = Meter

    account = factory.SubFactory(PersonalAccountFactory)
    serial = factory.Sequence(lambda n: f"SN{n:06d}")
    zones = 1
    digits = 6
    initial_values = factory.LazyAttribute(lambda meter: [1000] * meter.zones)
