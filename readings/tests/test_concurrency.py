import threading

import pytest
from django.db import connection

from accounts.tests.factories import MeterFactory
from conftest import kyiv
from readings.models import Reading
from readings.services import reading_submit

SUBMISSIONS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_submissions_leave_one_accepted_reading(on_postgres):
    meter = MeterFactory(initial_values=[1000])
    start = threading.Barrier(SUBMISSIONS)
    errors: list[Exception] = []

    def send(value: int) -> None:
        try:
            start.wait()
            reading_submit(meter=meter, text=str(value), channel="api", submitted_at=kyiv(2026, 11, 28))
        except Exception as exc:  # noqa: BLE001 - collected and asserted on below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(1100 + n,)) for n in range(SUBMISSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    readings = list(meter.readings.order_by("id"))
    assert len(readings) == SUBMISSIONS
    statuses = [r.status for r in readings]
    assert statuses.count(Reading.Status.ACCEPTED) == 1
    assert statuses.count(Reading.Status.SUPERSEDED) == SUBMISSIONS - 1
    # The last one written is the period's reading; every one counts from the same base.
    assert readings[-1].status == Reading.Status.ACCEPTED
    assert all(r.consumption == (r.value1 - 1000,) for r in readings)
