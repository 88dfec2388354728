-- The ceremony as the core's state machine sees it (attesta_core::ceremony).
-- PostgreSQL mirror of ../sqlite/0012_ceremony.sql (README.md here has the conventions).
--
-- ceremony_version: every transition the core decides is written with
-- `... WHERE ceremony_version = <the version it was decided on>` and bumps it, so two requests
-- racing on one document cannot both apply a decision made on the same state; the loser
-- reloads and asks the core again. No status guard in SQL decides what may follow what.
ALTER TABLE documents ADD COLUMN ceremony_version BIGINT NOT NULL DEFAULT 0;
-- When the document expires unless finished (UTC microseconds); NULL: never.
ALTER TABLE documents ADD COLUMN expires_at BIGINT;
-- What each recipient is asked to do (attesta_core::ceremony::ParticipantRole).
ALTER TABLE recipients ADD COLUMN role TEXT NOT NULL DEFAULT 'signer';
