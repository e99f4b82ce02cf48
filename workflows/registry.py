"""Every workflow the worker runs (`ALL_WORKFLOWS`, read through `workflows`)."""

from workflows.account_merge import AccountMergeWorkflow
from workflows.activation import ActivationWorkflow
from workflows.birthdate_correction import BirthdateCorrectionWorkflow
from workflows.credentials_reissue import CredentialsReissueWorkflow
from workflows.email_change import EmailChangeWorkflow
from workflows.franceconnect_link import FranceConnectLinkWorkflow
from workflows.housekeeping import HousekeepingWorkflow
from workflows.identifier_recovery import IdentifierRecoveryWorkflow
from workflows.password_change import PasswordChangeWorkflow
from workflows.password_reset import PasswordResetWorkflow
from workflows.provisioning import ProvisioningWorkflow
from workflows.pupil_activation import PupilActivationWorkflow
from workflows.sms_registration import SmsRegistrationWorkflow

ALL_WORKFLOWS = [ActivationWorkflow, SmsRegistrationWorkflow]
ALL_WORKFLOWS += [PupilActivationWorkflow]
ALL_WORKFLOWS += [BirthdateCorrectionWorkflow]
ALL_WORKFLOWS += [FranceConnectLinkWorkflow]
ALL_WORKFLOWS += [ProvisioningWorkflow, AccountMergeWorkflow, CredentialsReissueWorkflow]
ALL_WORKFLOWS += [
    EmailChangeWorkflow,
    PasswordChangeWorkflow,
    PasswordResetWorkflow,
    IdentifierRecoveryWorkflow,
]
ALL_WORKFLOWS += [HousekeepingWorkflow]
