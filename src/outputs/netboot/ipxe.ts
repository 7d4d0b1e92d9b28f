/**
 * The iPXE script of a netboot directory, as a pure function of where it is served and what
 * it boots. iPXE has already configured the network when it runs a script it fetched (from
 * QEMU's or a PXE server's TFTP, or chained over HTTP); `dhcp` runs only when it has not.
 */
export interface IpxeInput {
  /** Where the directory is served, without a trailing slash */
  url: string;
  title: string;
  /** Paths of the kernel and initramfs inside the directory */
  vmlinuz: string;
  initrd: string;
  /** The kernel command line (its strata.fetch= names `url`) */
  cmdline: string;
}

export function ipxeScript(i: IpxeInput): string {
  return [
    "#!ipxe",
    `# Written by strata: ${i.title}`,
    "isset ${ip} || dhcp",
    `echo Booting ${i.title} from ${i.url}`,
    // initrd= names the initramfs for EFI kernels; BIOS kernels ignore it.
    `kernel ${i.url}/${i.vmlinuz} initrd=initrd.img ${i.cmdline}`,
    `initrd --name initrd.img ${i.url}/${i.initrd}`,
    "boot",
    "",
  ].join("\n");
}

/** The URL strata.fetch= names in a command line, replaced by `url`. */
export function withFetchUrl(cmdline: string, url: string): string {
  return cmdline.replace(/(^|\s)strata\.fetch=\S*/, `$1strata.fetch=${url}`);
}
