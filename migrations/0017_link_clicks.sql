-- The click on an emailed link, recorded by the API when the person presents
-- the link's token: the workflow reads it back before it counts a click, so a
-- click message sent to Temporal by anyone else (a link id is readable in the
-- history) changes nothing.
ALTER TABLE email_links ADD COLUMN clicked_at timestamptz;
