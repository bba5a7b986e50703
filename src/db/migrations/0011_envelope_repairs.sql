CREATE TABLE "envelope_repairs" (
	"message_id" "bytea" PRIMARY KEY NOT NULL,
	"key_id" text NOT NULL,
	"key_version" integer NOT NULL,
	"header" "bytea" NOT NULL,
	"wraps" jsonb NOT NULL,
	"missing" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"repaired_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "envelope_repairs" ADD CONSTRAINT "envelope_repairs_key_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "envelope_repairs_pending_idx" ON "envelope_repairs" USING btree ("key_id","message_id") WHERE cardinality(missing) > 0;