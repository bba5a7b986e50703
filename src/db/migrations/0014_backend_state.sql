ALTER TABLE "key_bindings" ADD COLUMN "applied_state" text DEFAULT 'LIVE' NOT NULL;--> statement-breakpoint
ALTER TABLE "key_bindings" ADD COLUMN "applied_tags" jsonb;--> statement-breakpoint
-- Until now deletion reached the backends before the key's state changed: they are where the key is.
UPDATE "key_bindings" SET "applied_state" = "keys"."state" FROM "keys" WHERE "keys"."id" = "key_bindings"."key_id" AND "keys"."state" IN ('PENDING_DELETION', 'DESTROYED');
