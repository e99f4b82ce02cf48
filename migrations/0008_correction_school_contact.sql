-- Birthdate corrections filed from every blocked process (DESIGN §3.7): a
-- pupil without an email address files for themself, and nobody can be sent
-- the decision: the school tells the pupil (contact channel 'school', no
-- address). Staff see it on the request and in their emails.
ALTER TABLE correction_participants DROP CONSTRAINT correction_participants_contact_channel_check;
ALTER TABLE correction_participants ADD CONSTRAINT correction_participants_contact_channel_check
    CHECK (contact_channel IN ('email', 'sms', 'school'));
