-- A dashboard user's chosen language (a BCP 47 tag such as zh-TW); NULL follows the browser.
ALTER TABLE users ADD COLUMN language TEXT;
