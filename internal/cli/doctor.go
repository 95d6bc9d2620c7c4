package cli

import "github.com/spf13/cobra"

func newDoctorCmd(g *globals) *cobra.Command { return &cobra.Command{Use: "doctor"} }
