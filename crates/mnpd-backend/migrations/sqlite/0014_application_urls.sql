-- Where users get each host application (ModifyApplicationAppUrl); empty
-- when not set.
ALTER TABLE applications ADD COLUMN android_app_url TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN ios_app_url TEXT NOT NULL DEFAULT '';
