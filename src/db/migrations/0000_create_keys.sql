CREATE TABLE "keys" (
	"id" text PRIMARY KEY NOT NULL,
	"spec" text NOT NULL,
	"usage" text NOT NULL,
	"state" text NOT NULL,
	"state_before_deletion" text,
	"description" text DEFAULT '' NOT NULL,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"origin" text NOT NULL,
	"current_version" integer NOT NULL,
	"rotation_period_days" integer,
	"next_rotation_at" timestamp with time zone,
	"extractable" boolean NOT NULL,
	"never_extractable" boolean NOT NULL,
	"sensitive" boolean NOT NULL,
	"always_sensitive" boolean NOT NULL,
	"activation_date" timestamp with time zone,
	"protect_stop_date" timestamp with time zone,
	"deactivation_date" timestamp with time zone,
	"deletion_date" timestamp with time zone,
	"compromise_date" timestamp with time zone,
	"destroyed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "key_aliases" (
	"name" text PRIMARY KEY NOT NULL,
	"key_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "key_versions" (
	"key_id" text NOT NULL,
	"version" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "key_versions_pk" PRIMARY KEY("key_id","version")
);
--> statement-breakpoint
CREATE TABLE "key_bindings" (
	"id" text PRIMARY KEY NOT NULL,
	"key_id" text NOT NULL,
	"connection" text NOT NULL,
	"provider" text NOT NULL,
	"ref" text NOT NULL,
	"role" text NOT NULL,
	"sync_status" text DEFAULT 'in_sync' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "binding_versions" (
	"binding_id" text NOT NULL,
	"version" integer NOT NULL,
	"version_ref" text NOT NULL,
	CONSTRAINT "binding_versions_pk" PRIMARY KEY("binding_id","version")
);
--> statement-breakpoint
CREATE TABLE "key_events" (
	"id" text PRIMARY KEY NOT NULL,
	"key_id" text NOT NULL,
	"type" text NOT NULL,
	"from_state" text,
	"to_state" text,
	"reason" text,
	"actor" text NOT NULL,
	"request_id" text,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"key" text PRIMARY KEY NOT NULL,
	"request_hash" text NOT NULL,
	"status" integer,
	"body" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "local_key_material" (
	"ref" text NOT NULL,
	"version" integer NOT NULL,
	"sealed" "bytea" NOT NULL,
	"root_version" integer NOT NULL,
	CONSTRAINT "local_key_material_pk" PRIMARY KEY("ref","version")
);
--> statement-breakpoint
ALTER TABLE "key_aliases" ADD CONSTRAINT "key_aliases_key_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "key_versions" ADD CONSTRAINT "key_versions_key_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "key_bindings" ADD CONSTRAINT "key_bindings_key_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "binding_versions" ADD CONSTRAINT "binding_versions_binding_id_fk" FOREIGN KEY ("binding_id") REFERENCES "public"."key_bindings"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "key_events" ADD CONSTRAINT "key_events_key_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "keys_state_id_idx" ON "keys" USING btree ("state","id");--> statement-breakpoint
CREATE INDEX "keys_spec_id_idx" ON "keys" USING btree ("spec","id");--> statement-breakpoint
CREATE INDEX "keys_tags_idx" ON "keys" USING gin ("tags");--> statement-breakpoint
CREATE INDEX "keys_next_rotation_idx" ON "keys" USING btree ("next_rotation_at");--> statement-breakpoint
CREATE INDEX "keys_deletion_date_idx" ON "keys" USING btree ("deletion_date");--> statement-breakpoint
CREATE INDEX "key_aliases_key_id_idx" ON "key_aliases" USING btree ("key_id");--> statement-breakpoint
CREATE INDEX "key_bindings_key_id_idx" ON "key_bindings" USING btree ("key_id");--> statement-breakpoint
CREATE UNIQUE INDEX "key_bindings_connection_ref_uq" ON "key_bindings" USING btree ("connection","ref");--> statement-breakpoint
CREATE INDEX "key_events_key_id_idx" ON "key_events" USING btree ("key_id","id");