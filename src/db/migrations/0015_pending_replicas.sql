ALTER TABLE "key_bindings" ALTER COLUMN "ref" DROP NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "key_bindings_key_connection_uq" ON "key_bindings" USING btree ("key_id","connection");