"""Side effects of the processes, one module per family (records, accounts,
email links...). Each activity is idempotent: its idempotency key derives from
the workflow id, the run id and the step (`activities.idempotency`)."""

from __future__ import annotations

import asyncpg

from activities.account_management import AccountManagementActivities
from activities.accounts import AccountActivities
from activities.correction_decisions import CorrectionDecisionActivities
from activities.corrections import CorrectionActivities
from activities.email_links import EmailLinkActivities
from activities.franceconnect import FranceConnectActivities
from activities.housekeeping import HousekeepingActivities
from activities.merge import MergeActivities
from activities.provisioning import ProvisioningActivities
from activities.pupils import PupilActivities
from activities.records import RecordActivities
from activities.registration import RegistrationActivities
from activities.reissue import ReissueActivities
from activities.sms_codes import SmsCodeActivities
from activities.staff_notifications import StaffNotificationActivities


def all_activities(pool: asyncpg.Pool) -> list:
    """Every activity the worker serves, bound to the database pool."""
    families = [RecordActivities(pool), AccountActivities(pool), EmailLinkActivities(pool)]
    families += [SmsCodeActivities(pool), RegistrationActivities(pool)]
    families += [PupilActivities(pool)]
    families += [
        CorrectionActivities(pool),
        CorrectionDecisionActivities(pool),
        StaffNotificationActivities(pool),
    ]
    families += [FranceConnectActivities(pool)]
    families += [ProvisioningActivities(pool), MergeActivities(pool), ReissueActivities(pool)]
    families += [AccountManagementActivities(pool)]
    families += [HousekeepingActivities(pool)]
    return [
        getattr(family, name)
        for family in families
        for name in dir(family)
        if hasattr(getattr(family, name), "__temporal_activity_definition")
    ]
