CREATE TABLE "approval_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"operation" text NOT NULL,
	"target" text NOT NULL,
	"requester" text NOT NULL,
	"reason" text NOT NULL,
	"required" integer NOT NULL,
	"status" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "approval_votes" (
	"request_id" text NOT NULL,
	"principal" text NOT NULL,
	"decision" text NOT NULL,
	"comment" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "approval_votes_pkey" PRIMARY KEY("request_id","principal")
);
--> statement-breakpoint
ALTER TABLE "approval_votes" ADD CONSTRAINT "approval_votes_request_id_approval_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."approval_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "approval_requests_status_idx" ON "approval_requests" USING btree ("status","created_at");