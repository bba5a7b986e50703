CREATE TABLE "jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"target" text NOT NULL,
	"status" text NOT NULL,
	"cursor" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"progress" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"notes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "keys" ADD COLUMN "managed" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "keys" ADD COLUMN "connection" text;--> statement-breakpoint
ALTER TABLE "keys" ADD COLUMN "provider" text;--> statement-breakpoint
UPDATE "keys" SET "connection" = b."connection", "provider" = b."provider" FROM "key_bindings" b WHERE b."key_id" = "keys"."id" AND b."role" = 'primary';--> statement-breakpoint
ALTER TABLE "keys" ALTER COLUMN "connection" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "keys" ALTER COLUMN "provider" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "key_bindings" ADD COLUMN "last_seen_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "jobs_status_created_idx" ON "jobs" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "jobs_kind_target_idx" ON "jobs" USING btree ("kind","target","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_one_active_uq" ON "jobs" USING btree ("kind","target") WHERE status in ('QUEUED', 'RUNNING');--> statement-breakpoint
CREATE INDEX "keys_provider_state_id_idx" ON "keys" USING btree ("provider","state","id");--> statement-breakpoint
CREATE INDEX "keys_connection_state_id_idx" ON "keys" USING btree ("connection","state","id");--> statement-breakpoint
CREATE INDEX "binding_versions_version_ref_idx" ON "binding_versions" USING btree ("version_ref");