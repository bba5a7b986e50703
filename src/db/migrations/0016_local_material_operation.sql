ALTER TABLE "local_key_material" ADD COLUMN "operation" text;--> statement-breakpoint
CREATE UNIQUE INDEX "local_key_material_operation_uq" ON "local_key_material" USING btree ("operation");