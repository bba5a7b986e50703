DROP INDEX "keys_tags_idx";--> statement-breakpoint
CREATE INDEX "keys_tags_path_idx" ON "keys" USING gin ("tags" jsonb_path_ops);