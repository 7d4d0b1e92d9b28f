/** The options of `type: oci` (see ./index.ts). */
import { z } from "zod";
import { outputCommon } from "../../recipe/fields.js";

const command = z.array(z.string()).min(1);
/** Environment names as a shell takes them: `K=V` needs a K without `=`, and no NUL anywhere. */
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name: letters, digits and '_'");

export const OciOutput = z.strictObject({
  type: z.literal("oci"),
  ...outputCommon,
  format: z
    .enum(["tar", "dir"])
    .default("tar")
    .describe("tar: <name>.oci.tar (podman load -i, skopeo oci-archive:); dir: <name>.oci/"),
  compression: z
    .enum(["gzip", "zstd", "none"])
    .default("gzip")
    .describe("Layer compression: gzip (every runtime reads it), zstd, or none"),
  tag: z
    .string()
    .regex(
      /^[a-z0-9]+([._/:-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?$/,
      "an image reference such as kiosk:1.0 or registry.example/team/kiosk:latest",
    )
    .optional()
    .describe(
      "The image's reference name (index.json's org.opencontainers.image.ref.name); " +
        "default: <name>:latest",
    ),
  entrypoint: command.optional().describe("The image's ENTRYPOINT, as an exec array"),
  cmd: command.optional().describe("The image's CMD, as an exec array"),
  env: z
    .record(envName, z.string())
    .optional()
    .describe("Environment variables (a map); PATH defaults to Debian's when not given"),
  workdir: z
    .string()
    .regex(/^\//, "an absolute path")
    .optional()
    .describe("The working directory (WORKDIR)"),
  user: z.string().min(1).optional().describe("USER: a name or uid, with an optional :group"),
  labels: z.record(z.string(), z.string()).optional().describe("Image labels (LABEL)"),
  exposed_ports: z
    .array(
      z.union([
        z.number().int().min(1).max(65535),
        z.string().regex(/^\d{1,5}(\/(tcp|udp|sctp))?$/, "a port such as 80 or 53/udp"),
      ]),
    )
    .optional()
    .describe("EXPOSE: ports such as 80, 8080/tcp or 53/udp"),
});
export type OciOutput = z.output<typeof OciOutput>;
