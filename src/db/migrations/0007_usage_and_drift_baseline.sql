CREATE TABLE "key_usage" (
	"key_id" text NOT NULL,
	"operation" text NOT NULL,
	"count" bigint NOT NULL,
	"last_used_at" timestamp with time zone NOT NULL,
	CONSTRAINT "key_usage_pk" PRIMARY KEY("key_id","operation")
);
--> statement-breakpoint
CREATE TABLE "usage_hourly" (
	"hour" timestamp with time zone NOT NULL,
	"connection" text NOT NULL,
	"operation" text NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "usage_hourly_pk" PRIMARY KEY("hour","connection","operation")
);
--> statement-breakpoint
ALTER TABLE "keys" ALTER COLUMN "next_rotation_at" SET DATA TYPE timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "keys" ALTER COLUMN "created_at" SET DATA TYPE timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "keys" ALTER COLUMN "created_at" SET DEFAULT now();--> statement-breakpoint
ALTER TABLE "keys" ADD COLUMN "last_used_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "key_bindings" ADD COLUMN "backend_tags" jsonb;--> statement-breakpoint
ALTER TABLE "key_usage" ADD CONSTRAINT "key_usage_key_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "keys_created_at_id_idx" ON "keys" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "keys_last_used_at_id_idx" ON "keys" USING btree ("last_used_at","id");